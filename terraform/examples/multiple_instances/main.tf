# Two instances of the module in one stack (one per partner, say), deployed through an aliased
# provider: the way a platform team deploys into a workload account it assumes a role in. The
# module has no provider of its own, so it takes this one, for_each works on it, and the tags it is
# given reach every resource that takes tags (this provider sets no default_tags).
provider "aws" {
  alias  = "data_account"
  region = var.region

  dynamic "assume_role" {
    for_each = var.deploy_role_arn == null ? [] : [var.deploy_role_arn]
    content {
      role_arn     = assume_role.value
      session_name = "partner-data-deploy"
    }
  }
}

module "partner_data" {
  # From your own stack: source = "git::https://github.com/<owner>/<repo>.git//terraform?ref=<tag>"
  source   = "../.."
  for_each = var.instances

  providers = {
    aws = aws.data_account
  }

  region            = var.region
  name_prefix       = each.key
  partner_api_url   = each.value.partner_api_url
  purge_password    = var.purge_passwords[each.key]
  partner_api_token = var.partner_api_tokens[each.key]
  dist_dir          = var.dist_dir
  tags              = merge(var.tags, { Instance = each.key })
}
