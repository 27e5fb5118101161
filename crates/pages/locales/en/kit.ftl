kit-language-name = English
kit-language-nav = Language
kit-skip-link = Skip to content
kit-footer = caducee — identity of health professionals
kit-error-summary-title = There is a problem with the form
kit-steps-position = Step { $current } of { $total }
kit-steps-next = Next step: { $title }
kit-password-strength = Password strength:
kit-password-weak = Weak
kit-password-medium = Medium
kit-password-strong = Strong
kit-rule-met = met
kit-rule-unmet = not met
kit-terms-read-hint = Scroll the terms to the end to be able to accept them.
kit-terms-read-done = You have read the terms to the end: you can accept them.
# A delay in words ($unit: seconds, minutes, hours, days), given to texts as $delay.
kit-delay = { $unit ->
    [days] { $n ->
        [one] { $n } day
       *[other] { $n } days
    }
    [hours] { $n ->
        [one] { $n } hour
       *[other] { $n } hours
    }
    [minutes] { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }
   *[seconds] { $n ->
        [one] { $n } second
       *[other] { $n } seconds
    }
}
