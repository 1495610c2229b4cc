"""The REST features, one module each; every module registers its routes on `api`."""

from replug.api.routing import ApiRouter

api = ApiRouter()
