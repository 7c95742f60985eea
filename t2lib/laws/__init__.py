"""The mathematics: costs, pass@k, the laws and their fits (with their quality), optima and
frontiers, bootstrap bands and paired comparisons, plans, forecasts, and the validation of a
forecast by trained models."""
