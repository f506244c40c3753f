"""The RTMP server's callbacks as nginx makes them: paths, the shared secret in the URL, publish/done."""
import socket

from microstage import devstack

SECRET = "hook-secret-for-tests"
HOOK_PATHS = {"publish": "/streaming/rtmp/on-publish", "update": "/streaming/rtmp/on-update",
              "done": "/streaming/rtmp/on-publish-done"}
# nginx calls the hooks with the shared secret in the URL (deploy/nginx-rtmp.conf).
ON_PUBLISH = HOOK_PATHS["publish"] + "?secret=" + SECRET
ON_DONE = HOOK_PATHS["done"] + "?secret=" + SECRET
ON_UPDATE = HOOK_PATHS["update"] + "?secret=" + SECRET


def publish(client, key, app="live", addr="203.0.113.7"):
    return client.post(ON_PUBLISH, {"name": key, "app": app, "addr": addr, "call": "publish"})


def done(client, key, app="live"):
    return client.post(ON_DONE, {"name": key, "app": app, "addr": "203.0.113.7", "call": "publish_done"})


NGINX = devstack.find_nginx_rtmp()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
