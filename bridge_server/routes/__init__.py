"""The bridge API's endpoints, one module per concept, each exporting ``ROUTES``.

``bridge_server.app`` lists them all in one place. Handlers are thin: they check the caller
(``bridge_server.security``), read and validate the body (``bridge_server.schemas``) and ask
the server's services (``bridge_server.bridge.Bridge``, on ``app.state.bridge``).
"""
