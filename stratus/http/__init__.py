"""HTTP foundations every service shares.

- :mod:`stratus.http.requestid`: the id each request gets, in a context
  variable that logging includes, returned on every answer;
- :mod:`stratus.http.errors`: the one middleware that turns errors into a
  protocol's error body (never a traceback) and stamps the request id;
- :mod:`stratus.http.client`: the JSON-over-HTTP client base of the typed
  API clients.
"""
