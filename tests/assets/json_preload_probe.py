"""A module of the trial code directory that the fork launcher's tests preload."""
