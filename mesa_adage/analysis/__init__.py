"""What a finished run is worth.

The uncertainty report, the generalisation report, the
summary and the plots.
"""
