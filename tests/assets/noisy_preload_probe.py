"""A module the fork launcher preloads that prints as it is imported (to its launcher.log)."""

print("the noisy probe was imported")
