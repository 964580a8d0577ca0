-- When each key last authenticated a Merchant API request (Unix ms; NULL:
-- never), for the Panel's keys page and `omnicart key list`. Written at
-- most about once a minute per key and node (gateway.Service.Authenticate
-- throttles it), not on every request.
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
