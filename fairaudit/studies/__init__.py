"""What is particular to each case study: its parameters, declared once (one module a study).

``fairaudit.studies.credit_loan.PARAMETERS`` and its siblings are what the
notebook's ``parameters`` cell, ``fairaudit params`` and every check read. A
study's module also holds what only its notebook needs (notebook 03's models,
drift and simulated traffic).
"""
