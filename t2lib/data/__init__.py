"""Suites and where they come from: the suite format and its loader, the checks of inputs and
tables, the importers (lm-evaluation-harness, the public runs of Sardana, Gadre and the OLMo
ladder), suites at several seeds, suites trained with pretrain/, and the simulated suite."""
