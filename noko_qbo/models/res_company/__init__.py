from . import connection, client, lists
