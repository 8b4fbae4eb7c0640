#!/bin/sh
# test stub: kesl_launcher.sh
exit 0
