variable "name" {
  description = "Parameter name, a path such as /partner-data/purge-password."
  type        = string

  validation {
    # RE2 allows at most 1000 repetitions in {n,m}, so the length is checked apart.
    condition     = can(regex("^/[A-Za-z0-9_./-]+$", var.name)) && length(var.name) <= 1011 && !strcontains(var.name, "//")
    error_message = "name must be a path of at most 1011 characters, starting with / and made of letters, digits and _ . - /."
  }
}

variable "description" {
  description = "What the parameter holds (never the value)."
  type        = string
  default     = ""
}

variable "value" {
  description = "The secret. Ephemeral and write-only: it is sent to SSM but never stored in Terraform state or shown in a plan. Provide it on every plan/apply (e.g. TF_VAR_...)."
  type        = string
  sensitive   = true
  ephemeral   = true
  nullable    = false

  validation {
    condition     = length(var.value) >= var.min_length && length(var.value) <= 4096
    error_message = "value is too short or longer than 4096 characters."
  }
}

variable "min_length" {
  description = "Shortest value accepted."
  type        = number
  default     = 16

  validation {
    condition     = var.min_length >= 1
    error_message = "min_length must be at least 1."
  }
}

variable "value_version" {
  description = "Version of the value: Terraform writes `value` to SSM only when this (or kms_key_arn) changes. Increase it to rotate."
  type        = number

  validation {
    # Below 1000: the version written adds 1000 times a number drawn from the key.
    condition     = var.value_version >= 1 && var.value_version <= 999 && floor(var.value_version) == var.value_version
    error_message = "value_version must be a whole number from 1 to 999."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the value; null uses the AWS managed key alias/aws/ssm."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the parameter."
  type        = map(string)
  default     = {}
}
