"""The course autograder."""
