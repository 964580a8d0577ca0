-- Who created each API key (omnicart.Actor): "panel:" and the email of the
-- Panel user who created it, or "operator" (the CLI, and --demo's key).
-- The Panel's keys page and `omnicart key list` show it.
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
-- The keys made before: the Panel user whose audit entry records creating
-- the key (action key.create, target "key" and the key's prefix), else the
-- operator, since only the Panel and the operator's programs create keys.
UPDATE api_keys SET created_by = COALESCE(
	(SELECT 'panel:' || a.actor FROM panel_audit a
		WHERE a.merchant_id = api_keys.merchant_id AND a.action = 'key.create' AND a.target = 'key ' || api_keys.prefix
		ORDER BY a.id LIMIT 1),
	'operator');
