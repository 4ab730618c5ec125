import AutoProg
print("autoprog-bench: nothing yet")
