-- noko_qbo: a copy of the database must not use (and, by rotating it, kill)
-- production's QuickBooks refresh token. Credentials of the app stay; the
-- connection (tokens, realm, pending authorizations) goes.
DELETE FROM qbo_token;
DELETE FROM qbo_oauth_state;
UPDATE res_company
   SET qbo_realm_id = NULL,
       qbo_company_name = NULL
 WHERE qbo_realm_id IS NOT NULL;
-- Webhook deliveries signed for production are not this copy's to act on.
UPDATE res_company
   SET qbo_webhook_verifier_token = NULL
 WHERE qbo_webhook_verifier_token IS NOT NULL;
DELETE FROM qbo_webhook_event;
