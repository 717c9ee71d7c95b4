variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "sa-east-1"
}

variable "deploy_role_arn" {
  description = "Role the provider assumes in the account the instances go to; null deploys with the caller's own credentials."
  type        = string
  default     = null
}

variable "instances" {
  description = "One module instance per key (its name prefix: 3-32 lowercase letters, digits or hyphens)."
  type = map(object({
    partner_api_url = string
  }))
}

variable "purge_passwords" {
  description = "Each instance's purge password, by instance key (TF_VAR_purge_passwords='{\"…\" = \"…\"}'; never stored in state)."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
}

variable "partner_api_tokens" {
  description = "Each instance's partner API token, by instance key (never stored in state)."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
}

variable "tags" {
  description = "Tags for every resource of every instance (each instance adds Instance = its key)."
  type        = map(string)
  default     = { Team = "data-platform" }
}

variable "dist_dir" {
  description = "Folder holding the zips from `make package`; null means the repository's dist/."
  type        = string
  default     = null
}
