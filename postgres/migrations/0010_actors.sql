-- Who made each change (omnicart.Actor): the API key ("key:" and its
-- prefix) or the Panel user ("panel:" and the email) whose request
-- produced the event, written with the event in the change's transaction;
-- '' for what deadlines and customers' payments did, and for the events
-- from before this column. The Panel's cart timeline shows it; callback
-- payloads and API answers do not carry it. (A constant default: no
-- table rewrite.)
ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT '';
