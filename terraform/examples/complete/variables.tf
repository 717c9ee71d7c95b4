variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "sa-east-1"
}

variable "name_prefix" {
  description = "Prefix of every resource's name."
  type        = string
  default     = "partner-data"
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

variable "data_access_log_bucket" {
  description = "An existing bucket that receives the data bucket's server access logs (its policy must let logging.s3.amazonaws.com write)."
  type        = string
}

variable "extra_purgeable_buckets" {
  description = "Buckets besides the data bucket that partners may purge."
  type        = list(string)
  default     = []
}

variable "purge_allowed_source_cidrs" {
  description = "Source addresses allowed to call the purge endpoint."
  type        = list(string)
  default     = ["203.0.113.0/24"]
}

variable "refresh_schedule_enabled" {
  description = "Whether the daily refresh runs."
  type        = bool
  default     = true
}

variable "data_bucket_deletion_protection" {
  description = "Refuse to destroy the data bucket (set false and apply before a destroy)."
  type        = bool
  default     = true
}

variable "dist_dir" {
  description = "Folder holding the zips from `make package`; null means the repository's dist/."
  type        = string
  default     = null
}
