variable "name" {
  description = "Prefix of the alarms' and the dashboard's names (the stack's name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,48}$", var.name))
    error_message = "name must be 1-48 letters, digits, hyphens or underscores."
  }
}

variable "region" {
  description = "Region the dashboard's widgets read."
  type        = string
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the functions write their EMF metrics to (their METRICS_NAMESPACE)."
  type        = string
}

variable "datasets" {
  description = "Datasets the refresh exports: each gets a freshness alarm and a line on the dashboard."
  type        = list(string)
}

variable "refresh_function_name" {
  description = "Name of the refresh function (its DestinationDeliveryFailures are alarmed on)."
  type        = string
}

variable "failure_queue_name" {
  description = "Name of the SQS queue that receives every refresh run that did not happen."
  type        = string
}

variable "schedule_group_name" {
  description = "EventBridge Scheduler group of the refresh schedule (AWS/Scheduler's metrics are per group)."
  type        = string
  default     = "default"
}

variable "purge_state_machine_arn" {
  description = "ARN of the purge job state machine (its executions are on the dashboard; its alarms are the purge_job module's)."
  type        = string
}

variable "alarm_arns" {
  description = "ARNs of alarms defined elsewhere (each function's Errors, the purge jobs') to show on the dashboard beside these."
  type        = list(string)
  default     = []
}

variable "freshness_hours" {
  description = "A dataset with no successful export in this many hours raises its freshness alarm (missing data counts as none). CloudWatch evaluates at most a day: 1 to 24. With the daily schedule at midnight, 24 means: the day's run has not written by the hour after the one the previous day's run wrote in."
  type        = number
  default     = 24

  validation {
    condition     = var.freshness_hours >= 1 && var.freshness_hours <= 24 && floor(var.freshness_hours) == var.freshness_hours
    error_message = "freshness_hours must be a whole number from 1 to 24."
  }
}

variable "min_rows" {
  description = "Per dataset, the fewest rows one export may write before its volume alarm fires (set from the dashboard's rows per day, e.g. a tenth of the usual level); a dataset not in the map has no volume alarm."
  type        = map(number)
  default     = {}

  validation {
    condition     = alltrue([for rows in values(var.min_rows) : rows >= 1 && floor(rows) == rows])
    error_message = "min_rows values must be whole numbers of at least 1."
  }
}

variable "alarm_actions" {
  description = "SNS topic ARNs the alarms notify (on alarm and on recovery)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for the alarms and the dashboard."
  type        = map(string)
  default     = {}
}
