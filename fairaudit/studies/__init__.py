"""What belongs to one case study only: its simulation, parameters and exercise judges."""
