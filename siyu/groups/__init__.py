"""Community groups (社群): WeCom customer groups and their members, group tags, broadcasts to groups."""
