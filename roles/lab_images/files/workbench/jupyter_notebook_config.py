# Jupyter Notebook behind the labstack portal. The per-user base path comes from the command
# line (--NotebookApp.base_url=/user/<name>/), set by the user_containers role.
c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file
c.NotebookApp.ip = "0.0.0.0"
c.NotebookApp.port = 8888
c.NotebookApp.open_browser = False
c.NotebookApp.allow_remote_access = True
c.NotebookApp.trust_xheaders = True
# Sign-in happens at the portal; the container's port is published on 127.0.0.1 only.
c.NotebookApp.token = ""
c.NotebookApp.password = ""
c.NotebookApp.default_url = "/tree"
c.MappingKernelManager.default_kernel_name = "ir"
