variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "sa-east-1"
}

variable "partner_api_url" {
  description = "The partner API endpoint, e.g. https://<host>/api/InteliFunctionGetData."
  type        = string
}

variable "purge_password" {
  description = "The purge password (TF_VAR_purge_password on every plan and apply; never stored in state)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "partner_api_token" {
  description = "The partner API token (TF_VAR_partner_api_token on every plan and apply; never stored in state)."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "dist_dir" {
  description = "Folder holding the zips from `make package`; null means the repository's dist/."
  type        = string
  default     = null
}

variable "data_bucket_deletion_protection" {
  description = "Refuse to destroy the data bucket: set false and apply before a destroy that should delete it with its data."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "A customer managed KMS key for the bucket, parameters, queue, job table and logs; null uses AWS managed keys (its key policy must allow CloudWatch Logs: see examples/complete)."
  type        = string
  default     = null
}
