"""Who may call a route, as the OpenAPI document states it (enforced in services by domain/access.py)."""

KEY = [{"apiKey": []}]                      # admin token, owner key or staff key
CARD = [{"memberToken": []}]                 # the member's own card token
CARD_OR_KEY = [{"memberToken": []}, {"apiKey": []}]
PUBLIC_OR_KEY = [{}, {"apiKey": []}]         # anyone may join; staff get the existing member back
POS_KEY = [{"posKey": []}]                 # a POS key, each request signed (Bywalec-Signature)
