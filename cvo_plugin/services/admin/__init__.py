"""What the embedded admin shows and changes, as plain functions over a session (no Flask here).

Each function takes the signed-in shop's id and reads only that shop's rows, through the
analytics and cross-sell read services.
"""
