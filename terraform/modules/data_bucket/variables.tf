variable "bucket_name" {
  description = "Name of the bucket (globally unique)."
  type        = string

  validation {
    condition = (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) &&
      !strcontains(var.bucket_name, "..") &&
      !can(regex("^\\d+\\.\\d+\\.\\d+\\.\\d+$", var.bucket_name))
    )
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens."
  }
}

variable "expiration_days" {
  description = "Delete objects this many days after they are written (a retention safety net behind the purge endpoint); null keeps them."
  type        = number
  default     = null

  validation {
    condition     = var.expiration_days == null || try(var.expiration_days >= 1, false)
    error_message = "expiration_days must be null or >= 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Delete overwritten or deleted versions this many days after they stop being current."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be >= 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key for default encryption (SSE-KMS); null uses the AWS managed key aws/s3."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "Another bucket that receives this bucket's server access logs (it must allow the S3 logging service); null for none."
  type        = string
  default     = null

  validation {
    # Logs written into the bucket they describe make more logs, and the purge empties them.
    condition     = var.access_log_bucket != var.bucket_name
    error_message = "access_log_bucket must be another bucket: this bucket's access logs would loop into it."
  }
}

variable "deletion_protection" {
  description = "Refuse `terraform destroy` (and replacement) of the bucket, leaving it and its settings untouched. false lets destroy delete the bucket with every object version in it; apply that change before destroying."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}

variable "deletion_protection_setting" {
  description = "The name under which the caller sets deletion_protection, for the destroy guard's message (a root module's variable, say)."
  type        = string
  default     = "deletion_protection"

  validation {
    # It is echoed by the destroy-time command: plain words only.
    condition     = can(regex("^[a-z][a-z0-9_]{0,63}$", var.deletion_protection_setting))
    error_message = "deletion_protection_setting must be a variable name: lowercase letters, digits and underscores."
  }
}
