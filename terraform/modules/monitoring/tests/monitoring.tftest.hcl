mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                    = "partner-data"
  region                  = "sa-east-1"
  metrics_namespace       = "partner-data"
  datasets                = ["category", "establishment", "sale"]
  refresh_function_name   = "partner-data-refresh"
  failure_queue_name      = "partner-data-refresh-failures"
  purge_state_machine_arn = "arn:aws:states:sa-east-1:123456789012:stateMachine:partner-data-purge-job"
  alarm_actions           = ["arn:aws:sns:sa-east-1:123456789012:alerts"]
}

run "a_day_that_did_not_land_raises_an_alarm" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["refresh-failure-queue"].namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.this["refresh-failure-queue"].metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.this["refresh-failure-queue"].dimensions == tomap({ QueueName = "partner-data-refresh-failures" }) &&
      aws_cloudwatch_metric_alarm.this["refresh-failure-queue"].statistic == "Maximum" &&
      aws_cloudwatch_metric_alarm.this["refresh-failure-queue"].period == 300 &&
      aws_cloudwatch_metric_alarm.this["refresh-failure-queue"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.this["refresh-failure-queue"].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["refresh-failure-queue"].treat_missing_data == "notBreaching"
    )
    error_message = "The failure queue holding any message is an alarm: each one is a day that was not refreshed."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["refresh-destination-failures"].namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.this["refresh-destination-failures"].metric_name == "DestinationDeliveryFailures" &&
      aws_cloudwatch_metric_alarm.this["refresh-destination-failures"].dimensions == tomap({ FunctionName = "partner-data-refresh" }) &&
      aws_cloudwatch_metric_alarm.this["refresh-destination-failures"].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.this["refresh-destination-failures"].period == 300 &&
      aws_cloudwatch_metric_alarm.this["refresh-destination-failures"].threshold == 1 &&
      aws_cloudwatch_metric_alarm.this["refresh-destination-failures"].comparison_operator == "GreaterThanOrEqualToThreshold" &&
      aws_cloudwatch_metric_alarm.this["refresh-destination-failures"].treat_missing_data == "notBreaching"
    )
    error_message = "A failed run Lambda could not put in the failure queue is an alarm."
  }
  assert {
    condition = alltrue([
      for key, metric in { "schedule-dropped" = "InvocationDroppedCount", "schedule-dead-letter-failures" = "InvocationsFailedToBeSentToDeadLetterCount" } : (
        aws_cloudwatch_metric_alarm.this[key].namespace == "AWS/Scheduler" &&
        aws_cloudwatch_metric_alarm.this[key].metric_name == metric &&
        aws_cloudwatch_metric_alarm.this[key].dimensions == tomap({ ScheduleGroup = "default" }) &&
        aws_cloudwatch_metric_alarm.this[key].statistic == "Sum" &&
        aws_cloudwatch_metric_alarm.this[key].period == 300 &&
        aws_cloudwatch_metric_alarm.this[key].treat_missing_data == "notBreaching"
      )
    ])
    error_message = "The scheduler dropping a run, or failing to dead-letter it, is an alarm (per schedule group: AWS/Scheduler has no per-schedule metric)."
  }
  assert {
    condition = alltrue([
      for dataset in var.datasets : (
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].namespace == "partner-data" &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].metric_name == "ExportsWritten" &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].dimensions == tomap({ Dataset = dataset }) &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].statistic == "Sum" &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].period == 3600 &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].evaluation_periods == 24 &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].datapoints_to_alarm == 24 &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].threshold == 1 &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].comparison_operator == "LessThanThreshold" &&
        aws_cloudwatch_metric_alarm.this["refresh-${dataset}-freshness"].treat_missing_data == "breaching"
      )
    ])
    error_message = "Each dataset with no export written in 24 hourly periods is an alarm, and no data at all counts as none written."
  }
  assert {
    condition     = length([for key, alarm in aws_cloudwatch_metric_alarm.this : key if endswith(key, "-volume")]) == 0
    error_message = "No volume alarm without min_rows: the usual level is the operator's to set."
  }
  assert {
    condition = alltrue([
      for alarm in aws_cloudwatch_metric_alarm.this :
      alarm.alarm_actions == toset(var.alarm_actions) && alarm.ok_actions == toset(var.alarm_actions)
    ])
    error_message = "Every alarm notifies the topics, on alarm and on recovery."
  }
}

run "volume_alarms_where_a_floor_is_set" {
  command = plan

  variables {
    min_rows        = { sale = 1000 }
    freshness_hours = 6
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["refresh-sale-volume"].namespace == "partner-data" &&
      aws_cloudwatch_metric_alarm.this["refresh-sale-volume"].metric_name == "ExportRows" &&
      aws_cloudwatch_metric_alarm.this["refresh-sale-volume"].dimensions == tomap({ Dataset = "sale" }) &&
      aws_cloudwatch_metric_alarm.this["refresh-sale-volume"].statistic == "Minimum" &&
      aws_cloudwatch_metric_alarm.this["refresh-sale-volume"].period == 3600 &&
      aws_cloudwatch_metric_alarm.this["refresh-sale-volume"].threshold == 1000 &&
      aws_cloudwatch_metric_alarm.this["refresh-sale-volume"].comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["refresh-sale-volume"].treat_missing_data == "notBreaching"
    )
    error_message = "An export of sale writing fewer rows than its floor is an alarm (a missing export is the freshness alarm's)."
  }
  assert {
    condition     = length([for key, alarm in aws_cloudwatch_metric_alarm.this : key if endswith(key, "-volume")]) == 1
    error_message = "Only the datasets given a floor get a volume alarm."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["refresh-sale-freshness"].evaluation_periods == 6
    error_message = "freshness_hours sets the freshness window."
  }
}

run "the_dashboard_shows_rows_outcomes_purges_and_alarms" {
  command = apply

  assert {
    condition = (
      jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[0].properties.metrics == [
        for dataset in var.datasets : ["partner-data", "ExportRows", "Dataset", dataset]
      ] &&
      jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[0].properties.period == 86400
    )
    error_message = "The first widget: rows per dataset per day."
  }
  assert {
    condition     = [for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : widget.type] == ["metric", "metric", "metric", "metric", "metric", "metric", "alarm"]
    error_message = "Six metric widgets, then the alarms' states."
  }
  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets[6].properties.alarms) == 7
    error_message = "The alarms widget shows every alarm of the module (three freshness, two scheduler, the queue, the destination)."
  }
}

run "refuses_a_freshness_window_past_a_day" {
  command = plan

  variables {
    freshness_hours = 25
  }

  expect_failures = [var.freshness_hours]
}
