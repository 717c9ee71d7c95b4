# The module with its defaults: what most deployments need. Run from this folder:
#   TF_VAR_purge_password=... TF_VAR_partner_api_token=... terraform apply -var partner_api_url=...
provider "aws" {
  region = var.region
}

module "partner_data" {
  # From your own stack: source = "git::https://github.com/<owner>/<repo>.git//terraform?ref=<tag>"
  source = "../.."

  region            = var.region
  partner_api_url   = var.partner_api_url
  purge_password    = var.purge_password
  partner_api_token = var.partner_api_token
  dist_dir          = var.dist_dir

  kms_key_arn                     = var.kms_key_arn
  data_bucket_deletion_protection = var.data_bucket_deletion_protection
}
