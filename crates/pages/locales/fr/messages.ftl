# The e-mails and SMS caducee sends (crates/notify/src/templates.rs). French is the source
# and the default. One message per paragraph: a value on one line (a line break here would
# be a line break in the e-mail). SMS texts must stay in the GSM 7-bit alphabet (no ê, ç,
# ô, ’, « ») and fit one SMS (160 septets) with a portal name of 30 characters.
# Never a code or a link in a subject.

## Every e-mail
mail-greeting = Bonjour,
mail-signature = Ce message vous a été envoyé automatiquement par { $sender }. Merci de ne pas y répondre.
mail-sender-ecps = caducee (e-CPS)
mail-not-you = Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : aucune modification ne sera faite.
mail-keep-secret = Ce code est valable { $minutes } minutes. Ne le communiquez à personne : aucun service ne vous le demandera par téléphone ou par e-mail.

## e-CPS activation code (PSC-04)
mail-ecps-activation-subject = Votre code d'activation e-CPS
mail-ecps-activation-intro = Voici votre code d'activation e-CPS, à saisir dans l'application :
mail-ecps-activation-second-code = Un second code vous a été envoyé par SMS sur votre téléphone mobile : les deux codes sont nécessaires pour activer votre e-CPS.
mail-ecps-activation-not-you = Si vous n'avez pas demandé l'activation d'une e-CPS, ignorez ce message et signalez-le à votre agence régionale de santé (ARS).
sms-ecps-activation = e-CPS : votre code d'activation est { $code }. Valable { $minutes } min. Ne le communiquez à personne.

## e-CPS expiry reminder (PSC-05)
mail-ecps-expiry-subject = Votre e-CPS expire le { $date }
mail-ecps-expiry-when = Votre e-CPS expire le { $date }, { $days ->
        [0] dans moins de 24 heures
        [1] dans moins de 24 heures
       *[other] dans { $days } jours
    }.
mail-ecps-expiry-how = Après cette date, elle sera refusée et vous ne pourrez plus vous connecter avec elle aux services de santé en ligne. Pour continuer à l'utiliser, réactivez-la avant cette date avec la commande « caducee ecps activate » : un code vous sera envoyé par e-mail et un autre par SMS, aux coordonnées enregistrées au répertoire RPPS.
mail-ecps-expiry-changed = Si ces coordonnées ont changé, contactez votre agence régionale de santé (ARS) pour les faire corriger avant de réactiver votre e-CPS.
sms-ecps-expiry = e-CPS : votre e-CPS expire le { $date }. Réactivez-la avant cette date avec caducee ecps activate.

## Account creation code (ACC-03)
mail-account-creation-subject = { $portal } : votre code de création de compte
mail-account-creation-intro = Voici le code qui permet de finaliser la création de votre compte { $portal } :
sms-account-creation = { $portal } : votre code pour créer votre compte est { $code }. Valable { $minutes } min. Ne le communiquez à personne.

## Account recovery code (ACC-05)
mail-account-recovery-subject = { $portal } : votre code de récupération de compte
mail-account-recovery-intro = Voici le code qui permet de finaliser la récupération de votre compte { $portal } :
sms-account-recovery = { $portal } : votre code pour récupérer votre compte est { $code }. Valable { $minutes } min. Ne le communiquez à personne.

## Account created (ACC-04)
mail-account-created-subject = { $portal } : votre espace personnel a été créé
mail-account-created-done = Votre espace personnel { $portal } a été créé et activé.
mail-account-created-login = Votre identifiant de connexion est votre adresse e-mail : { $login }
mail-account-created-sign-in = Pour vous connecter :
mail-account-created-not-you = Si vous n'êtes pas à l'origine de cette création, contactez le support du portail.
sms-account-created = { $portal } : votre espace personnel est créé et activé. Identifiant : { $login }.

## Login e-mail changed, sent to the previous address (ACC-05, ACC-07)
mail-email-changed-subject = { $portal } : l'adresse de connexion de votre espace a changé
mail-email-changed-body = L'adresse e-mail de connexion de votre espace { $portal } a été remplacée le { $changed-at } par { $new-email }. Ce message est envoyé à l'ancienne adresse.
mail-email-changed-not-you = Si vous n'êtes pas à l'origine de ce changement, contactez sans attendre le support du portail.
sms-email-changed = { $portal } : l'adresse de connexion de votre espace est devenue { $new-email }.

## Password reset link (ACC-06)
mail-password-reset-subject = { $portal } : réinitialisation de votre mot de passe
mail-password-reset-intro = Vous avez demandé à choisir un nouveau mot de passe pour votre compte { $portal }. Ouvrez ce lien de connexion unique :
mail-password-reset-validity = Ce lien est valable { $hours } heures et ne fonctionne qu'une seule fois. Ne le transmettez à personne.
mail-password-reset-not-you = Si vous n'avez pas demandé de nouveau mot de passe, ignorez ce message : votre mot de passe actuel reste valable.
# No portal name: the link names the site, and must fit whole.
sms-password-reset = Nouveau mot de passe (lien unique, { $hours } h) : { $link }

## E-mail and phone verification codes (ACC-08, ACC-09, ACC-10)
mail-email-verification-subject = { $portal } : code de vérification de votre adresse e-mail
mail-email-verification-intro = Voici le code de vérification de votre adresse e-mail, à saisir sur { $portal } :
mail-phone-verification-subject = { $portal } : code de vérification de votre téléphone
mail-phone-verification-intro = Voici le code de vérification de votre numéro de téléphone, à saisir sur { $portal } :
sms-verification = { $portal } : votre code de vérification est { $code }. Valable { $minutes } min. Ne le communiquez à personne.

## A request approved or rejected (REG-07..09)
mail-request-approved-subject = { $portal } : votre demande a été acceptée
mail-request-approved = Votre demande « { $request } » a été acceptée.
mail-request-approved-delay = Un délai de { $delay } peut être nécessaire avant que les changements soient visibles partout.
mail-request-rejected-subject = { $portal } : votre demande a été refusée
mail-request-rejected = Votre demande « { $request } » a été refusée pour le motif suivant :
mail-request-rejected-next = Vous pouvez la corriger et la déposer à nouveau, ou contacter votre agence régionale de santé (ARS).
mail-request-link = Pour consulter votre demande :
sms-request-approved = { $portal } : votre demande "{ $request }" a été acceptée.
sms-request-rejected = { $portal } : votre demande "{ $request }" a été refusée. Motif : { $reason }

## A first registration validated, the RPPS number assigned (REG-07)
mail-rpps-assigned-subject = { $portal } : votre numéro RPPS vous a été attribué
mail-rpps-assigned = Votre demande d'enregistrement au RPPS a été validée par votre agence régionale de santé (ARS).
mail-rpps-assigned-number = Votre numéro RPPS est :
mail-rpps-assigned-delay = Un délai de { $delay } est nécessaire avant de pouvoir vous connecter via Pro Santé Connect, activer votre e-CPS et télécharger votre attestation.
mail-rpps-assigned-next = Vous pourrez ensuite procéder à l'ajout ou à la modification de votre activité sur le portail eRPPS.
sms-rpps-assigned = { $portal } : votre numéro RPPS est { $rpps }. Il sera utilisable via Pro Santé Connect dans { $delay }.
