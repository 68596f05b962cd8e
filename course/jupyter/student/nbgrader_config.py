# nbgrader settings for a student of the course (see course/DEPLOY.md).
#
# This folder is put on a student's JUPYTER_CONFIG_PATH: JupyterLab then shows nbgrader's
# Assignments tab and Validate button (page_config.json hides Formgrader, Create Assignment
# and the Course List, jupyter_server_config.json switches off their server side), and the
# Assignments tab and `nbgrader fetch_assignment` / `submit` / `fetch_feedback` find the course.
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = os.environ.get("ENN_COURSE_ID", "efficientnn")
c.Exchange.root = os.environ.get("ENN_EXCHANGE", "/srv/nbgrader/exchange")
