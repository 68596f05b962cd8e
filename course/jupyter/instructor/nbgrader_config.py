# nbgrader settings for an instructor of the course (see course/DEPLOY.md).
#
# This folder is put on an instructor's JUPYTER_CONFIG_PATH: every nbgrader extension is on
# (the default), and formgrader and the nbgrader commands work on the course's folders.
# ENN_ROOT is the checkout of this repository the course runs from.
import os

c = get_config()  # noqa: F821
root = os.environ.get("ENN_ROOT", "/srv/efficientnn")
load_subconfig("nbgrader_config.py", path=os.path.join(root, "autograder"))  # noqa: F821
c.CourseDirectory.root = os.path.join(root, "course")
c.CourseDirectory.source_directory = os.path.join(root, "source")
c.CourseDirectory.release_directory = os.path.join(root, "release")
c.CourseDirectory.course_id = os.environ.get("ENN_COURSE_ID", "efficientnn")
c.Exchange.root = os.environ.get("ENN_EXCHANGE", "/srv/nbgrader/exchange")
