"""Imports: last year's orders and customer lists from Tmall, Youzan, Shopify or any CSV / Excel file."""
