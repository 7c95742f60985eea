"""What the chapters call to show results: what each chapter needs of a suite, glued numbers and
notes, tables and figures in the house style, the verdict page, the interactive figure, and the
build's cache of shared fits."""
