# The e-mails and SMS caducee sends (crates/notify/src/templates.rs), in English. Same
# rules as the French source: one paragraph per value, on one line; SMS texts in the GSM
# 7-bit alphabet (straight quotes only) and within one SMS (160 septets) with a portal
# name of 30 characters; never a code or a link in a subject.

## Every e-mail
mail-greeting = Hello,
mail-signature = This message was sent to you automatically by { $sender }. Please do not reply to it.
mail-sender-ecps = caducee (e-CPS)
mail-not-you = If you did not make this request, ignore this message: no change will be made.
mail-keep-secret = This code is valid for { $minutes } minutes. Do not share it with anyone: no service will ever ask you for it by phone or by e-mail.

## e-CPS activation code (PSC-04)
mail-ecps-activation-subject = Your e-CPS activation code
mail-ecps-activation-intro = Here is your e-CPS activation code, to be entered in the application:
mail-ecps-activation-second-code = A second code has been sent to your mobile phone by SMS: both codes are needed to activate your e-CPS.
mail-ecps-activation-not-you = If you did not ask to activate an e-CPS, ignore this message and report it to your regional health agency (ARS).
sms-ecps-activation = e-CPS: your activation code is { $code }. Valid for { $minutes } min. Do not share it with anyone.

## e-CPS expiry reminder (PSC-05)
mail-ecps-expiry-subject = Your e-CPS expires on { $date }
mail-ecps-expiry-when = Your e-CPS expires on { $date }, { $days ->
        [0] within 24 hours
        [1] within 24 hours
       *[other] in { $days } days
    }.
mail-ecps-expiry-how = After that date it will be refused and you will no longer be able to sign in with it to online health services. To keep using it, reactivate it before that date with the command “caducee ecps activate”: one code will be sent to you by e-mail and another by SMS, to the contact details recorded in the RPPS directory.
mail-ecps-expiry-changed = If these contact details have changed, contact your regional health agency (ARS) to have them corrected before you reactivate your e-CPS.
sms-ecps-expiry = e-CPS: your e-CPS expires on { $date }. Reactivate it before then with caducee ecps activate.

## Account creation code (ACC-03)
mail-account-creation-subject = { $portal }: your account creation code
mail-account-creation-intro = Here is the code to complete the creation of your { $portal } account:
sms-account-creation = { $portal }: your code to create your account is { $code }. Valid for { $minutes } min. Do not share it with anyone.

## Account recovery code (ACC-05)
mail-account-recovery-subject = { $portal }: your account recovery code
mail-account-recovery-intro = Here is the code to complete the recovery of your { $portal } account:
sms-account-recovery = { $portal }: your code to recover your account is { $code }. Valid for { $minutes } min. Do not share it with anyone.

## Account created (ACC-04)
mail-account-created-subject = { $portal }: your personal space has been created
mail-account-created-done = Your { $portal } personal space has been created and activated.
mail-account-created-login = Your sign-in identifier is your e-mail address: { $login }
mail-account-created-sign-in = To sign in:
mail-account-created-not-you = If you did not create this space, contact the portal's support team.
sms-account-created = { $portal }: your personal space has been created and activated. Login: { $login }.

## Login e-mail changed, sent to the previous address (ACC-05, ACC-07)
mail-email-changed-subject = { $portal }: the sign-in address of your space has changed
mail-email-changed-body = The sign-in e-mail address of your { $portal } space was replaced on { $changed-at } with { $new-email }. This message is sent to the previous address.
mail-email-changed-not-you = If you did not make this change, contact the portal's support team without delay.
sms-email-changed = { $portal }: the sign-in address of your space is now { $new-email }.

## Password reset link (ACC-06)
mail-password-reset-subject = { $portal }: resetting your password
mail-password-reset-intro = You asked to choose a new password for your { $portal } account. Open this single-use sign-in link:
mail-password-reset-validity = This link is valid for { $hours } hours and works only once. Do not pass it on to anyone.
mail-password-reset-not-you = If you did not ask for a new password, ignore this message: your current password remains valid.
# No portal name: the link names the site, and must fit whole.
sms-password-reset = New password (single-use link, { $hours } h): { $link }

## E-mail and phone verification codes (ACC-08, ACC-09, ACC-10)
mail-email-verification-subject = { $portal }: verification code for your e-mail address
mail-email-verification-intro = Here is the verification code for your e-mail address, to be entered on { $portal }:
mail-phone-verification-subject = { $portal }: verification code for your phone
mail-phone-verification-intro = Here is the verification code for your phone number, to be entered on { $portal }:
sms-verification = { $portal }: your verification code is { $code }. Valid for { $minutes } min. Do not share it with anyone.

## A request approved or rejected (REG-07..09)
mail-request-approved-subject = { $portal }: your request has been approved
mail-request-approved = Your request “{ $request }” has been approved.
mail-request-approved-delay = It may take up to { $delay } for the changes to be visible everywhere.
mail-request-rejected-subject = { $portal }: your request has been rejected
mail-request-rejected = Your request “{ $request }” has been rejected for the following reason:
mail-request-rejected-next = You can correct it and submit it again, or contact your regional health agency (ARS).
mail-request-link = To view your request:
sms-request-approved = { $portal }: your request "{ $request }" has been approved.
sms-request-rejected = { $portal }: your request "{ $request }" has been rejected. Reason: { $reason }

## A first registration validated, the RPPS number assigned (REG-07)
mail-rpps-assigned-subject = { $portal }: your RPPS number has been assigned
mail-rpps-assigned = Your request for registration in the RPPS has been validated by your regional health agency (ARS).
mail-rpps-assigned-number = Your RPPS number is:
mail-rpps-assigned-delay = It takes { $delay } before you can log in with Pro Santé Connect, activate your e-CPS and download your certificate.
mail-rpps-assigned-next = You can then add or change your activity on the eRPPS portal.
sms-rpps-assigned = { $portal }: your RPPS number is { $rpps }. It can be used with Pro Santé Connect in { $delay }.
