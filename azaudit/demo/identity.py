"""Demo identity: Entra users, MFA registration, directory roles, Conditional Access, Azure RBAC.

Graph documents follow Microsoft's Graph v1.0 examples (`users` with `signInActivity`,
`userRegistrationDetails`, `conditionalAccess/policies`,
`identitySecurityDefaultsEnforcementPolicy`); RBAC documents follow `RoleAssignments_ListForScope`
and `RoleDefinitions_List`. Everyone holding an Azure role is a Graph user below (or a service
principal or group, which Graph `users` does not list).

The story: Conditional Access requires MFA for everyone (break-glass accounts excluded) and for
Azure management; the policy blocking legacy authentication is still in report-only mode. Five
people hold Global Administrator, one of whom moved to another job six months ago and has not
signed in since (he is still Contributor on the platform subscription). The data-science manager
owns the dev subscription, administers its access and has never registered MFA. A consultant guest
was made Owner of the patient portal during go-live; an engineer who left in September is disabled
but still Contributor on the clinical subscription. Dev has a custom role granting `*`.

Privileged Identity Management is in use, patchily: the CISO is eligible for Global Administrator
(a sixth holder), the clinical applications engineer is eligible for Owner of the clinical
subscription, and the platform lead activated her Owner role on the platform subscription this
morning; every other privileged assignment is standing. Guest invitations are limited to
administrators and Guest Inviters, but users may still consent to any application (the legacy
default).
"""

from __future__ import annotations

from dataclasses import dataclass

from azaudit.demo.arm import Doc, arm_list
from azaudit.demo.org import (
    CLINICAL,
    DEV,
    DOMAIN,
    PLATFORM,
    PORTAL,
    ROOT_MANAGEMENT_GROUP,
    SUBSCRIPTIONS,
    Subscription,
    days_ago,
    guid,
)

GRAPH = "https://graph.microsoft.com/v1.0/$metadata"
AZURE_MANAGEMENT_APP = "797f4846-ba00-4fd7-ba43-dac1f8f63013"


@dataclass(frozen=True, slots=True)
class User:
    """An Entra user as far as the checks care."""

    key: str
    display: str
    job: str
    last_sign_in_days: float | None
    mfa: bool = True
    enabled: bool = True
    guest_of: str | None = None
    directory_roles: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Object id."""
        return guid(f"user:{self.key}")

    @property
    def upn(self) -> str:
        """User principal name (guests get the `#EXT#` form)."""
        if self.guest_of is not None:
            return f"{self.key}_{self.guest_of}#EXT#@{DOMAIN}"
        return f"{self.key}@{DOMAIN}"

    @property
    def mail(self) -> str:
        """Mail address."""
        return f"{self.key}@{self.guest_of or DOMAIN}"


GLOBAL_ADMIN = "Global Administrator"

USERS: tuple[User, ...] = (
    User("bg-admin-01", "Break Glass 01", "Emergency access", 38, directory_roles=(GLOBAL_ADMIN,)),
    User("bg-admin-02", "Break Glass 02", "Emergency access", 38, directory_roles=(GLOBAL_ADMIN,)),
    User(
        "priya.natarajan",
        "Priya Natarajan",
        "Cloud Platform Lead",
        0.1,
        directory_roles=(GLOBAL_ADMIN, "Privileged Role Administrator"),
    ),
    User(
        "marcus.reyes",
        "Marcus Reyes",
        "Director of IT Infrastructure",
        1.2,
        directory_roles=(GLOBAL_ADMIN,),
    ),
    User("tom.becker", "Tom Becker", "Enterprise Architect", 187, directory_roles=(GLOBAL_ADMIN,)),
    User(
        "raj.patel",
        "Raj Patel",
        "Data Science Manager",
        2,
        mfa=False,
        directory_roles=("Application Administrator",),
    ),
    User(
        "dana.whitfield",
        "Dana Whitfield",
        "Chief Information Security Officer",
        0.5,
        directory_roles=("Security Administrator",),
    ),
    User("kim.tran", "Kim Tran", "Service Desk Lead", 1, directory_roles=("User Administrator",)),
    User("sofia.alvarez", "Sofia Alvarez", "Patient Portal Product Owner", 3),
    User("jordan.lee", "Jordan Lee", "Portal Developer", 0.3),
    User("samira.haddad", "Samira Haddad", "Clinical Applications Engineer", 1),
    User(
        "greg.holloway",
        "Greg Holloway",
        "Clinical Systems Engineer (left 2026-09-09)",
        52,
        enabled=False,
    ),
    User("elena.kowalski", "Elena Kowalski", "Data Engineer", 4),
    User("noah.fischer", "Noah Fischer", "Research Fellow", 14),
    User(
        "mchen",
        "Ming Chen (Contoso Consulting)",
        "Consultant",
        9,
        guest_of="contosoconsulting.example",
    ),
    User(
        "abrooks",
        "Avery Brooks (Fabrikam Audit)",
        "External auditor",
        20,
        mfa=False,
        guest_of="fabrikamaudit.example",
        directory_roles=("Global Reader",),
    ),
    User("olivia.grant", "Dr. Olivia Grant", "Hospitalist", 0.2),
    User("ahmed.karim", "Ahmed Karim", "Nurse Informaticist", 2),
    User("grace.oduya", "Grace Oduya", "Medical Coder (new hire)", None, mfa=False),
    User("svc-hl7-sync", "HL7 sync service account", "Service account", 0.01, mfa=False),
)

DIRECTORY_ROLE_TEMPLATES: dict[str, tuple[str, str]] = {
    GLOBAL_ADMIN: (
        "62e90394-69f5-4237-9190-012177145e10",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft "
        "Entra identities.",
    ),
    "Privileged Role Administrator": (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity "
        "Management.",
    ),
    "Security Administrator": (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Can read security information and reports, and manage configuration in Microsoft Entra "
        "ID and Office 365.",
    ),
    "User Administrator": (
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "Can manage all aspects of users and groups, including resetting passwords for limited "
        "admins.",
    ),
    "Application Administrator": (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Can create and manage all aspects of app registrations and enterprise apps.",
    ),
    "Global Reader": (
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        "Can read everything that a Global Administrator can, but not update anything.",
    ),
}

# -- Azure RBAC ------------------------------------------------------------------------------------

BUILT_IN_ROLES: dict[str, tuple[str, list[str], list[str], list[str], str]] = {
    # name: (guid, actions, notActions, dataActions, description)
    "Owner": (
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        ["*"],
        [],
        [],
        "Grants full access to manage all resources, including the ability to assign roles in "
        "Azure RBAC.",
    ),
    "Contributor": (
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        ["*"],
        [
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ],
        [],
        "Grants full access to manage all resources, but does not allow you to assign roles in "
        "Azure RBAC.",
    ),
    "Reader": (
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        ["*/read"],
        [],
        [],
        "View all resources, but does not allow you to make any changes.",
    ),
    "User Access Administrator": (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        [],
        [],
        "Lets you manage user access to Azure resources.",
    ),
    "Security Reader": (
        "39bc4728-0917-49c7-9d2c-d95423bc2eb4",
        [
            "Microsoft.Authorization/*/read",
            "Microsoft.Security/*/read",
            "Microsoft.Insights/alertRules/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        [],
        [],
        "Security Reader Role",
    ),
    "Key Vault Crypto Service Encryption User": (
        "e147488a-f6f5-4113-8e2d-b22465e65bf6",
        [
            "Microsoft.EventGrid/eventSubscriptions/write",
            "Microsoft.EventGrid/eventSubscriptions/read",
            "Microsoft.EventGrid/eventSubscriptions/delete",
        ],
        [],
        [
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/keys/wrap/action",
            "Microsoft.KeyVault/vaults/keys/unwrap/action",
        ],
        "Read metadata of keys and perform wrap/unwrap operations.",
    ),
    "AcrPull": (
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        ["Microsoft.ContainerRegistry/registries/pull/read"],
        [],
        [],
        "acr pull",
    ),
}


@dataclass(frozen=True, slots=True)
class CustomRole:
    """A custom role definition and the subscription it is defined in."""

    sub: Subscription
    name: str
    actions: tuple[str, ...]
    description: str

    @property
    def id(self) -> str:
        """The role definition's GUID."""
        return guid(f"role:{self.sub.key}:{self.name}")


CUSTOM_ROLES: tuple[CustomRole, ...] = (
    CustomRole(
        CLINICAL,
        "NW EHR VM Operator",
        (
            "Microsoft.Compute/virtualMachines/read",
            "Microsoft.Compute/virtualMachines/start/action",
            "Microsoft.Compute/virtualMachines/restart/action",
            "Microsoft.Compute/virtualMachines/deallocate/action",
            "Microsoft.Network/networkInterfaces/read",
        ),
        "Start, restart and stop EHR application servers.",
    ),
    CustomRole(
        DEV,
        "NW Dev Full Access",
        ("*",),
        "Everything in the dev subscription, so data scientists do not need Owner.",
    ),
)


@dataclass(frozen=True, slots=True)
class Assignment:
    """One role assignment: who, which role, where (`scope` relative to the subscription)."""

    sub: Subscription
    principal: str
    role: str
    scope: str = ""
    principal_type: str = "User"


_CLINICAL_KV = (
    "/resourceGroups/rg-clinical-security-eus/providers/"
    "Microsoft.KeyVault/vaults/kv-nw-clinical-eus"
)

ASSIGNMENTS: tuple[Assignment, ...] = (
    # platform: three owners; a stale architect is still Contributor
    Assignment(PLATFORM, "priya.natarajan", "Owner"),
    Assignment(PLATFORM, "marcus.reyes", "Owner"),
    Assignment(PLATFORM, "bg-admin-01", "Owner"),
    Assignment(PLATFORM, "tom.becker", "Contributor"),
    # clinical: two owners; a disabled leaver keeps Contributor
    Assignment(CLINICAL, "priya.natarajan", "Owner"),
    Assignment(CLINICAL, "marcus.reyes", "Owner"),
    Assignment(CLINICAL, "greg.holloway", "Contributor"),
    Assignment(
        CLINICAL, "samira.haddad", "NW EHR VM Operator", "/resourceGroups/rg-clinical-ehr-eus"
    ),
    Assignment(CLINICAL, "samira.haddad", "Contributor", "/resourceGroups/rg-clinical-apps-eus"),
    Assignment(CLINICAL, "abrooks", "Reader"),
    Assignment(CLINICAL, "sg-nw-clinical-readers", "Reader", principal_type="Group"),
    Assignment(
        CLINICAL,
        "sp-ado-clinical-deploy",
        "Contributor",
        "/resourceGroups/rg-clinical-apps-eus",
        principal_type="ServicePrincipal",
    ),
    Assignment(
        CLINICAL,
        "id-stnwclinicalphi01-cmk",
        "Key Vault Crypto Service Encryption User",
        _CLINICAL_KV,
        principal_type="ServicePrincipal",
    ),
    # portal: four owners, one of them a guest
    Assignment(PORTAL, "priya.natarajan", "Owner"),
    Assignment(PORTAL, "marcus.reyes", "Owner"),
    Assignment(PORTAL, "sofia.alvarez", "Owner"),
    Assignment(PORTAL, "mchen", "Owner"),
    Assignment(PORTAL, "jordan.lee", "Contributor"),
    Assignment(
        PORTAL,
        "sp-github-portal-deploy",
        "Contributor",
        "/resourceGroups/rg-portal-app-eus2",
        principal_type="ServicePrincipal",
    ),
    Assignment(
        PORTAL,
        "aks-nw-portal-eus2-agentpool",
        "AcrPull",
        "/resourceGroups/rg-portal-aks-eus2/providers/Microsoft.ContainerRegistry/registries/acrnwportal",
        principal_type="ServicePrincipal",
    ),
    # dev: a single owner without MFA who also administers access; a custom "*" role
    Assignment(DEV, "raj.patel", "Owner"),
    Assignment(DEV, "raj.patel", "User Access Administrator"),
    Assignment(DEV, "elena.kowalski", "Contributor"),
    Assignment(DEV, "noah.fischer", "NW Dev Full Access"),
)

INHERITED: tuple[tuple[str, str, str], ...] = (
    # (principal, role, principal type) assigned on the root management group
    ("sg-nw-secops", "Security Reader", "Group"),
    ("dana.whitfield", "Reader", "User"),
)


ACTIVATED: tuple[tuple[Subscription, str, str], ...] = (
    # (subscription, principal, role): active assignments activated from a PIM eligibility
    (PLATFORM, "priya.natarajan", "Owner"),
)

ELIGIBLE: tuple[tuple[Subscription, str, str], ...] = (
    # (subscription, principal, role): eligible Azure role assignments at subscription scope
    (PLATFORM, "priya.natarajan", "Owner"),
    (CLINICAL, "samira.haddad", "Owner"),
)

DIRECTORY_ELIGIBLE: tuple[tuple[str, str], ...] = (
    # (user, directory role): eligible Entra role assignments (tenant-wide)
    ("dana.whitfield", GLOBAL_ADMIN),
)


def _role_guid(sub: Subscription, role: str) -> str:
    if role in BUILT_IN_ROLES:
        return BUILT_IN_ROLES[role][0]
    return next(c.id for c in CUSTOM_ROLES if c.name == role and c.sub is sub)


def _principal_id(key: str) -> str:
    return next((u.id for u in USERS if u.key == key), guid(f"principal:{key}"))


def _assignment_doc(
    scope: str, principal: str, role_definition_id: str, principal_type: str, created_days: float
) -> Doc:
    name = guid(f"ra:{scope}:{principal}:{role_definition_id}")
    created = days_ago(created_days, fraction=True)
    return {
        "properties": {
            "roleDefinitionId": role_definition_id,
            "principalId": _principal_id(principal),
            "principalType": principal_type,
            "scope": scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": created,
            "updatedOn": created,
            "createdBy": _principal_id("priya.natarajan"),
            "updatedBy": _principal_id("priya.natarajan"),
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
    }


def role_assignments(sub: Subscription) -> Doc:
    """Role assignments listed at a subscription: its own, its resource groups', inherited."""
    items = []
    for i, a in enumerate(x for x in ASSIGNMENTS if x.sub is sub):
        role_id = _role_guid(sub, a.role)
        definition = f"{sub.scope}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
        items.append(
            _assignment_doc(
                sub.scope + a.scope, a.principal, definition, a.principal_type, 400 - 11 * i
            )
        )
    for principal, role, kind in INHERITED:
        definition = f"/providers/Microsoft.Authorization/roleDefinitions/{BUILT_IN_ROLES[role][0]}"
        items.append(_assignment_doc(ROOT_MANAGEMENT_GROUP, principal, definition, kind, 900))
    return arm_list(items)


def _user_named(key: str) -> User:
    return next(u for u in USERS if u.key == key)


def assignment_schedule_instances(sub: Subscription) -> Doc:
    """`roleAssignmentScheduleInstances` at a subscription: one per active assignment, after
    the REST spec's `GetRoleAssignmentScheduleInstancesByScope`; `Activated` for those in
    `ACTIVATED`, `Assigned` (standing) for the rest."""
    items = []
    for assignment in role_assignments(sub)["value"]:
        props = assignment["properties"]
        key = next(
            (
                a.principal
                for a in ASSIGNMENTS
                if a.sub is sub and _principal_id(a.principal) == props["principalId"]
            ),
            "",
        )
        role = props["roleDefinitionId"].rsplit("/", 1)[-1]
        activated = any(
            s is sub and p == key and BUILT_IN_ROLES[r][0] == role for s, p, r in ACTIVATED
        )
        name = assignment["name"]
        items.append(
            {
                "properties": {
                    "originRoleAssignmentId": assignment["id"],
                    "linkedRoleEligibilityScheduleId": guid(f"elig:{sub.key}:{key}:{role}")
                    if activated
                    else None,
                    "assignmentType": "Activated" if activated else "Assigned",
                    "scope": props["scope"],
                    "roleDefinitionId": props["roleDefinitionId"],
                    "principalId": props["principalId"],
                    "principalType": props["principalType"],
                    "status": "Provisioned",
                    "roleAssignmentScheduleId": f"{sub.scope}/providers/Microsoft.Authorization/"
                    f"RoleAssignmentSchedules/{name}",
                    "startDateTime": days_ago(0.1) if activated else props["createdOn"],
                    "endDateTime": days_ago(-0.2) if activated else None,
                    "memberType": "Direct" if props["scope"] == sub.scope else "Inherited",
                    "createdOn": props["createdOn"],
                },
                "name": name,
                "id": f"{sub.scope}/providers/Microsoft.Authorization/"
                f"RoleAssignmentScheduleInstances/{name}",
                "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances",
            }
        )
    return arm_list(items)


def eligibility_schedule_instances(sub: Subscription) -> Doc:
    """`roleEligibilityScheduleInstances` at a subscription, after the REST spec's
    `GetRoleEligibilityScheduleInstancesByScope`."""
    items = []
    for s, key, role in ELIGIBLE:
        if s is not sub:
            continue
        role_id = BUILT_IN_ROLES[role][0]
        user = _user_named(key)
        name = guid(f"eligi:{sub.key}:{key}:{role_id}")
        definition = f"{sub.scope}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
        items.append(
            {
                "properties": {
                    "scope": sub.scope,
                    "roleDefinitionId": definition,
                    "principalId": user.id,
                    "principalType": "User",
                    "status": "Provisioned",
                    "roleEligibilityScheduleId": f"{sub.scope}/providers/Microsoft.Authorization/"
                    f"RoleEligibilitySchedules/{guid(f'elig:{sub.key}:{key}:{role_id}')}",
                    "startDateTime": days_ago(200, fraction=True),
                    "endDateTime": days_ago(-165, fraction=True),
                    "memberType": "Direct",
                    "createdOn": days_ago(200, fraction=True),
                    "condition": None,
                    "conditionVersion": None,
                    "expandedProperties": {
                        "scope": {
                            "id": sub.scope,
                            "displayName": sub.display_name,
                            "type": "subscription",
                        },
                        "roleDefinition": {
                            "id": definition,
                            "displayName": role,
                            "type": "BuiltInRole",
                        },
                        "principal": {
                            "id": user.id,
                            "displayName": user.display,
                            "email": user.mail,
                            "type": "User",
                        },
                    },
                },
                "name": name,
                "id": f"{sub.scope}/providers/Microsoft.Authorization/"
                f"RoleEligibilityScheduleInstances/{name}",
                "type": "Microsoft.Authorization/RoleEligibilityScheduleInstances",
            }
        )
    return arm_list(items)


def role_definitions(sub: Subscription) -> Doc:
    """Role definitions visible at a subscription: the built-ins the demo uses, custom roles."""
    items = []
    for name, (role_id, actions, not_actions, data_actions, description) in BUILT_IN_ROLES.items():
        items.append(
            {
                "properties": {
                    "roleName": name,
                    "type": "BuiltInRole",
                    "description": description,
                    "assignableScopes": ["/"],
                    "permissions": [
                        {
                            "actions": actions,
                            "notActions": not_actions,
                            "dataActions": data_actions,
                            "notDataActions": [],
                        }
                    ],
                    "createdOn": "2015-02-02T21:55:09.8806423Z",
                    "updatedOn": "2025-02-12T16:45:11.3384536Z",
                    "createdBy": None,
                    "updatedBy": None,
                },
                "id": f"{sub.scope}/providers/Microsoft.Authorization/roleDefinitions/{role_id}",
                "type": "Microsoft.Authorization/roleDefinitions",
                "name": role_id,
            }
        )
    for role in (c for c in CUSTOM_ROLES if c.sub is sub):
        items.append(
            {
                "properties": {
                    "roleName": role.name,
                    "type": "CustomRole",
                    "description": role.description,
                    "assignableScopes": [sub.scope],
                    "permissions": [
                        {
                            "actions": list(role.actions),
                            "notActions": [],
                            "dataActions": [],
                            "notDataActions": [],
                        }
                    ],
                    "createdOn": days_ago(320, fraction=True),
                    "updatedOn": days_ago(320, fraction=True),
                    "createdBy": _principal_id("raj.patel" if sub is DEV else "samira.haddad"),
                    "updatedBy": _principal_id("raj.patel" if sub is DEV else "samira.haddad"),
                },
                "id": f"{sub.scope}/providers/Microsoft.Authorization/roleDefinitions/{role.id}",
                "type": "Microsoft.Authorization/roleDefinitions",
                "name": role.id,
            }
        )
    return arm_list(items)


# -- Microsoft Graph -------------------------------------------------------------------------------


def _sign_in(user: User) -> Doc:
    if user.last_sign_in_days is None:
        return {
            "lastSignInDateTime": None,
            "lastSignInRequestId": None,
            "lastNonInteractiveSignInDateTime": None,
            "lastNonInteractiveSignInRequestId": None,
            "lastSuccessfulSignInDateTime": None,
            "lastSuccessfulSignInRequestId": None,
        }
    when = days_ago(user.last_sign_in_days)
    return {
        "lastSignInDateTime": when,
        "lastSignInRequestId": guid(f"signin:{user.key}"),
        "lastNonInteractiveSignInDateTime": days_ago(max(user.last_sign_in_days - 0.01, 0)),
        "lastNonInteractiveSignInRequestId": guid(f"signin-ni:{user.key}"),
        "lastSuccessfulSignInDateTime": when,
        "lastSuccessfulSignInRequestId": guid(f"signin:{user.key}"),
    }


def users_document() -> Doc:
    """`GET /users` with the `$select` of the `graph:users` source."""
    return {
        "@odata.context": (
            f"{GRAPH}#users(id,displayName,userPrincipalName,userType,accountEnabled,signInActivity)"
        ),
        "value": [
            {
                "id": u.id,
                "displayName": u.display,
                "userPrincipalName": u.upn,
                "userType": "Guest" if u.guest_of else "Member",
                "accountEnabled": u.enabled,
                "signInActivity": _sign_in(u),
            }
            for u in USERS
        ],
    }


def registration_document() -> Doc:
    """`GET /reports/authenticationMethods/userRegistrationDetails`."""
    rows = []
    for u in USERS:
        if u.key.startswith("bg-admin"):
            methods = ["fido2"]
            preferred = "none"
        elif u.mfa:
            methods = ["microsoftAuthenticatorPush", "softwareOneTimePasscode"]
            preferred = "push"
        else:
            methods = []
            preferred = ""
        rows.append(
            {
                "id": u.id,
                "userPrincipalName": u.upn,
                "userDisplayName": u.display,
                "isAdmin": bool(u.directory_roles),
                "isSsprRegistered": u.mfa and not u.guest_of,
                "isSsprEnabled": not u.guest_of,
                "isSsprCapable": u.mfa and not u.guest_of,
                "isMfaRegistered": u.mfa,
                "isMfaCapable": u.mfa,
                "isPasswordlessCapable": u.key.startswith("bg-admin"),
                "lastUpdatedDateTime": days_ago(3, fraction=True),
                "methodsRegistered": methods,
                "isSystemPreferredAuthenticationMethodEnabled": True,
                "systemPreferredAuthenticationMethods": ["push"] if preferred == "push" else [],
                "userPreferredMethodForSecondaryAuthentication": preferred,
                "userType": "guest" if u.guest_of else "member",
            }
        )
    return {
        "@odata.context": f"{GRAPH}#reports/authenticationMethods/userRegistrationDetails",
        "value": rows,
    }


def directory_roles_document() -> Doc:
    """`GET /directoryRoles` (activated roles only), each with its complete `members` list."""
    roles = []
    for name, (template, description) in DIRECTORY_ROLE_TEMPLATES.items():
        members: list[Doc] = [
            {
                "@odata.type": "#microsoft.graph.user",
                "id": u.id,
                "businessPhones": [],
                "displayName": u.display,
                "givenName": u.display.split(" ")[0],
                "jobTitle": u.job,
                "mail": u.mail,
                "mobilePhone": None,
                "officeLocation": None,
                "preferredLanguage": None,
                "surname": u.display.split(" ")[-1],
                "userPrincipalName": u.upn,
            }
            for u in USERS
            if name in u.directory_roles
        ]
        roles.append(
            {
                "id": guid(f"directoryRole:{template}"),
                "deletedDateTime": None,
                "description": description,
                "displayName": name,
                "roleTemplateId": template,
                "members": members,
            }
        )
    return {"@odata.context": f"{GRAPH}#directoryRoles(members())", "value": roles}


def directory_eligibility_document() -> Doc:
    """`GET /roleManagement/directory/roleEligibilityScheduleInstances?$expand=principal`."""
    items = []
    for key, role in DIRECTORY_ELIGIBLE:
        user = _user_named(key)
        template = DIRECTORY_ROLE_TEMPLATES[role][0]
        items.append(
            {
                "id": guid(f"dir-eligi:{key}:{template}"),
                "principalId": user.id,
                "roleDefinitionId": template,
                "directoryScopeId": "/",
                "appScopeId": None,
                "startDateTime": days_ago(90),
                "endDateTime": None,
                "memberType": "Direct",
                "roleEligibilityScheduleId": guid(f"dir-elig:{key}:{template}"),
                "principal": {
                    "@odata.type": "#microsoft.graph.user",
                    "id": user.id,
                    "displayName": user.display,
                },
            }
        )
    return {
        "@odata.context": f"{GRAPH}#roleManagement/directory/roleEligibilityScheduleInstances"
        "(principal(id,displayName))",
        "value": items,
    }


def authorization_policy_document() -> Doc:
    """`GET /policies/authorizationPolicy` (v1.0 returns the single policy object)."""
    return {
        "@odata.context": f"{GRAPH}#policies/authorizationPolicy/$entity",
        "@odata.id": "https://graph.microsoft.com/v2/"
        "00000000-0000-0000-0000-000000000000/authorizationPolicy/authorizationPolicy",
        "id": "authorizationPolicy",
        "allowInvitesFrom": "adminsAndGuestInviters",
        "allowedToSignUpEmailBasedSubscriptions": True,
        "allowedToUseSSPR": True,
        "allowEmailVerifiedUsersToJoinOrganization": False,
        "allowUserConsentForRiskyApps": None,
        "blockMsolPowerShell": False,
        "description": "Used to manage authorization related settings across the company.",
        "displayName": "Authorization Policy",
        "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
        "defaultUserRolePermissions": {
            "allowedToCreateApps": True,
            "allowedToCreateSecurityGroups": True,
            "allowedToCreateTenants": True,
            "allowedToReadBitlockerKeysForOwnedDevice": True,
            "allowedToReadOtherUsers": True,
            "permissionGrantPoliciesAssigned": [
                "ManagePermissionGrantsForSelf.microsoft-user-default-legacy",
                "ManagePermissionGrantsForOwnedResource.microsoft-dynamically-managed-permissions-for-team",
            ],
        },
    }


def _ca_policy(
    name: str,
    state: str,
    *,
    users: list[str],
    exclude_users: list[str],
    applications: list[str],
    client_apps: list[str],
    grant: list[str],
    created_days: float,
    include_roles: list[str] | None = None,
) -> Doc:
    return {
        "id": guid(f"ca:{name}"),
        "templateId": None,
        "displayName": name,
        "createdDateTime": days_ago(created_days, fraction=True),
        "modifiedDateTime": days_ago(created_days / 3, fraction=True),
        "state": state,
        "sessionControls": None,
        "conditions": {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": client_apps,
            "servicePrincipalRiskLevels": [],
            "insiderRiskLevels": None,
            "platforms": None,
            "locations": None,
            "devices": None,
            "clientApplications": None,
            "applications": {
                "includeApplications": applications,
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            "users": {
                "includeUsers": users,
                "excludeUsers": exclude_users,
                "includeGroups": [],
                "excludeGroups": [],
                "includeRoles": include_roles or [],
                "excludeRoles": [],
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
        },
        "grantControls": {
            "operator": "OR",
            "builtInControls": grant,
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": None,
        },
    }


def conditional_access_document() -> Doc:
    """`GET /identity/conditionalAccess/policies`."""
    break_glass = [u.id for u in USERS if u.key.startswith("bg-admin")]
    policies = [
        _ca_policy(
            "NW-CA001 Require MFA for all users",
            "enabled",
            users=["All"],
            exclude_users=break_glass,
            applications=["All"],
            client_apps=["all"],
            grant=["mfa"],
            created_days=720,
        ),
        _ca_policy(
            "NW-CA002 Require MFA for Azure management",
            "enabled",
            users=["All"],
            exclude_users=break_glass,
            applications=[AZURE_MANAGEMENT_APP],
            client_apps=["all"],
            grant=["mfa"],
            created_days=700,
        ),
        _ca_policy(
            "NW-CA003 Block legacy authentication",
            "enabledForReportingButNotEnforced",
            users=["All"],
            exclude_users=[*break_glass, _principal_id("svc-hl7-sync")],
            applications=["All"],
            client_apps=["exchangeActiveSync", "other"],
            grant=["block"],
            created_days=150,
        ),
        _ca_policy(
            "NW-CA004 Require compliant device for administrators",
            "enabled",
            users=[],
            exclude_users=break_glass,
            applications=["All"],
            client_apps=["browser", "mobileAppsAndDesktopClients"],
            grant=["compliantDevice", "domainJoinedDevice"],
            created_days=400,
            include_roles=[DIRECTORY_ROLE_TEMPLATES[GLOBAL_ADMIN][0]],
        ),
        _ca_policy(
            "NW-CA900 Pilot - block access from unmanaged devices",
            "disabled",
            users=["None"],
            exclude_users=[],
            applications=["None"],
            client_apps=["all"],
            grant=["block"],
            created_days=60,
        ),
    ]
    return {"@odata.context": f"{GRAPH}#identity/conditionalAccess/policies", "value": policies}


def security_defaults_document() -> Doc:
    """Security defaults (`identitySecurityDefaultsEnforcementPolicy`): off, CA is used."""
    return {
        "@odata.context": f"{GRAPH}#policies/identitySecurityDefaultsEnforcementPolicy/$entity",
        "description": (
            "Security defaults is a set of basic identity security mechanisms recommended by "
            "Microsoft. When enabled, these recommendations will be automatically enforced in your "
            "organization. Administrators and users will be better protected from common identity "
            "related attacks."
        ),
        "displayName": "Security Defaults",
        "id": "00000000-0000-0000-0000-000000000005",
        "isEnabled": False,
    }


def graph_documents() -> dict[str, Doc]:
    """Every Microsoft Graph document of the demo tenant, keyed `graph:<path>`."""
    return {
        "graph:identity/conditionalAccess/policies": conditional_access_document(),
        "graph:policies/identitySecurityDefaultsEnforcementPolicy": security_defaults_document(),
        "graph:reports/authenticationMethods/userRegistrationDetails": registration_document(),
        "graph:directoryRoles": directory_roles_document(),
        "graph:users": users_document(),
        "graph:roleManagement/directory/roleEligibilityScheduleInstances": (
            directory_eligibility_document()
        ),
        "graph:policies/authorizationPolicy": authorization_policy_document(),
    }


def rbac_documents() -> dict[str, dict[str, Doc]]:
    """Role assignments and definitions per subscription scope."""
    return {
        sub.scope: {
            "providers/Microsoft.Authorization/roleAssignments": role_assignments(sub),
            "providers/Microsoft.Authorization/roleDefinitions": role_definitions(sub),
            "providers/Microsoft.Authorization/roleEligibilityScheduleInstances": (
                eligibility_schedule_instances(sub)
            ),
            "providers/Microsoft.Authorization/roleAssignmentScheduleInstances": (
                assignment_schedule_instances(sub)
            ),
        }
        for sub in SUBSCRIPTIONS
    }
