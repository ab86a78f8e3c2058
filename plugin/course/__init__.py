"""The course: the list of katas, the learner's progress, hints, the summary and the grading report."""
