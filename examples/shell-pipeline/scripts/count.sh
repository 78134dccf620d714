#!/bin/sh
# Counts the words of the file named by $INPUT.
wc -w < "$INPUT"
