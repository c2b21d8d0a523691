from . import connection, client, lists, sync
