"""Inbound callbacks from WeChat official accounts and WeCom: verification, decryption, events, replies."""
