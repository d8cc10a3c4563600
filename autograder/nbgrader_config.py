"""nbgrader course configuration. Run nbgrader from this folder (``cd autograder && nbgrader ...``).

Course root is the repository: sources in ``solutions/<assignment>/``, the student release in
``notebooks/<assignment>/``, submissions in ``autograder/submitted/<student>/<assignment>/``.
"""
import os

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

_here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = os.path.dirname(_here)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.submitted_directory = os.path.join("autograder", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("autograder", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("autograder", "feedback")
c.CourseDirectory.db_url = os.environ.get(
    "NBGRADER_DB_URL", "sqlite:///" + os.path.join(_here, "gradebook.db"))
c.CourseDirectory.course_id = "inside-the-black-box"

# Every assignment of the registry (autograder/assignments.py), nothing listed twice.
from autograder.assignments import CHECK_MODULES  # noqa: E402

c.CourseDirectory.db_assignments = [dict(name=assignment_id) for assignment_id in CHECK_MODULES]

# Student notebooks run their solution cells with `raise NotImplementedError` stubs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# Graded cells run offline, on the CPU, with a generous per-cell timeout.
c.ExecutePreprocessor.timeout = 600
c.Execute.timeout = 600
