"""Identity resolution: one profile per person across every identifier a brand sees."""
