# Reads the output of tests/NeuralStyle.TestRunner (neuralstyle-tests) and prints the full name of the test method
# after which CUDA was unusable for the rest of the process, or nothing: the first test whose failure names an
# error that spoils the context (the driver's sticky errors, or ONNX Runtime's words for them), else the test a
# native fault ended the process in (a "Starting" line with no result after it, and no total). tools/gpu-check.sh
# then runs that test alone and the others without it.
#
#   awk -f tools/fatal-test.awk tests.log
/^  Starting / { running = $2; failed = ""; next }
/^  (Passed|Skipped) / { failed = running = ""; next }
/^  Failed / { failed = ($2 == "outside") ? "" : $2; running = ""; next } # "Failed outside a test": a fixture's
/^Total tests:/ { finished = 1; next }
failed != "" && /CUDA_ERROR_(ILLEGAL_ADDRESS|LAUNCH_FAILED|MISALIGNED_ADDRESS|ILLEGAL_INSTRUCTION|HARDWARE_STACK_ERROR|INVALID_PC|INVALID_ADDRESS_SPACE|ECC_UNCORRECTABLE)|illegal memory access|unspecified launch failure|misaligned address|illegal instruction/ {
  found = failed
  exit
}
END {
  name = found != "" ? found : (finished ? "" : running)
  sub(/\(.*/, "", name) # a theory case: its method
  if (name != "") print name
}
