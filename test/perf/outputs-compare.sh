#!/usr/bin/env bash
# Compare two run.sh output folders, ignoring wall-clock times, temp paths, inodes and model creation times.
A=$1; B=$2; rc=0
for f in $(cd $A && ls); do
  case $f in pos.json) continue;; esac
  norm() { if [[ $1 == *.model ]]; then python3 -c "import sys,re;d=open(sys.argv[1],'rb').read()[:-4];sys.stdout.buffer.write(re.sub(rb'createdAt...[^\"]*',b'',d))" $1; else sed -E 's/"(fitMs|totalMs|seconds)":[0-9.e-]+/"\1":X/g; s#/tmp/logforest-demo-[A-Za-z0-9]+#TMP#g' $1; fi; }
  if ! cmp -s <(norm $A/$f) <(norm $B/$f); then echo "DIFF $f"; rc=1; fi
done
[ $rc = 0 ] && echo "all $(ls $A | wc -l) files identical (normalised)"
exit $rc
