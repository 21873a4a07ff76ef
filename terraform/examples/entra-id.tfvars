# Sign-in through Microsoft Entra ID instead of the stack's Cognito user pool: everyone your
# tenant lets into the app registration can use the studio. Use it beside your other variables:
#
#   cargo xtask deploy --var-file terraform/entra-id.tfvars
#
# In the Entra admin center: App registrations > New registration, a Web platform with the
# redirect URI https://<your studio>/auth/callback (the output url after a first deploy, or
# https://<domain_name>/auth/callback), then Certificates & secrets > New client secret. To let
# in only some people, set "Assignment required" on the Enterprise application and assign them.
#
# Keep the secret out of files: export TF_VAR_oidc_client_secret=... before deploying.

auth = "oidc"

# https://login.microsoftonline.com/<tenant id>/v2.0 CHANGE
oidc_issuer = "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"

# The registration's Application (client) ID. CHANGE
oidc_client_id = "00000000-0000-0000-0000-000000000000"

# Entra puts the address in the ID token's `email` claim when the account has one. CHANGE
admins = ["lead@example.com"]
