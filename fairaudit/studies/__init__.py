"""What is particular to each case study: its parameters, declared once (one module a study).

``fairaudit.studies.credit_loan.PARAMETERS`` and its siblings are what the
notebook's ``parameters`` cell, ``fairaudit params`` and every check read.
"""
