"""The demo brand: a cosmetics brand modelled on the 完美日记 case in the seed articles."""
