"""Solara pages of the mesa-adage models (run with ``solara run visualization/<page>.py``)."""
