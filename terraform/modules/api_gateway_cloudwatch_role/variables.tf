variable "name" {
  description = "Name of the IAM role API Gateway assumes to write logs; the region is appended."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,48}$", var.name))
    error_message = "name must be 1-48 characters allowed in IAM role names."
  }
}

variable "region" {
  description = "Region whose API Gateway account setting this module owns."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as sa-east-1."
  }
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
