"""What a finished run is worth.

The uncertainty report, whether the search fell short of a point the run scored, whether the
answer held on fresh episodes, the generalisation report, the summary and the plots.
"""
